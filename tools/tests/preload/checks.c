/*
 * Checks of the preload layer's C semantics, run by tools/tests/preload.rs over
 * `netstack run` (and, for reference, on the kernel). Each mode prints what it
 * saw; the test compares.
 *
 *   checks sigpipe HOST PORT [nosignal]   write to a connection the peer closed
 *   checks eintr PORT restart|norestart   accept interrupted by SIGALRM
 *   checks inetd PORT [stdio]             accept, dup2 onto 0 and 1, echo a line
 *                                         (with read/write, or fgets/printf)
 *   checks fork HOST PORT                 fork: child misuses the socket, execs
 *   checks fds                            numbers of sockets and files
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int connect_to(const char *host, int port)
{
    struct sockaddr_in a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); exit(1); }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = inet_addr(host);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(1); }
    return s;
}

static int listen_on(int port)
{
    struct sockaddr_in a;
    int on = 1;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); exit(1); }
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
    if (listen(s, 5) < 0) { perror("listen"); exit(1); }
    printf("listening\n");
    fflush(stdout);
    return s;
}

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char *argv[])
{
    if (argc >= 4 && strcmp(argv[1], "sigpipe") == 0) {
        int s = connect_to(argv[2], atoi(argv[3]));
        int flags = argc > 4 ? MSG_NOSIGNAL : 0;
        char buf[4096];
        int i;
        memset(buf, 'p', sizeof buf);
        /* The peer closes at once; our writes meet its RST (ECONNRESET), then EPIPE. */
        for (i = 0; i < 2000; i++) {
            if (send(s, buf, sizeof buf, flags) < 0) {
                printf("send: %s\n", strerror(errno));
                if (errno == EPIPE)
                    return 0;
            }
            usleep(2000);
        }
        printf("no error\n");
        return 1;
    }
    if (argc == 4 && strcmp(argv[1], "eintr") == 0) {
        int s = listen_on(atoi(argv[2]));
        struct sigaction sa;
        int c;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sa.sa_flags = strcmp(argv[3], "restart") == 0 ? SA_RESTART : 0;
        sigaction(SIGALRM, &sa, 0);
        alarm(1);
        c = accept(s, 0, 0);
        if (c < 0)
            printf("accept: %s\n", strerror(errno));
        else
            printf("accepted after the signal\n");
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "inetd") == 0) {
        int s = listen_on(atoi(argv[2]));
        int c = accept(s, 0, 0);
        char line[256];
        int n;
        if (c < 0) { perror("accept"); return 1; }
        close(s);
        if (dup2(c, 0) != 0 || dup2(c, 1) != 1) { perror("dup2"); return 1; }
        close(c);
        /* From here on the connection is standard input and output. */
        if (argc > 3) {
            if (!fgets(line, sizeof line, stdin)) return 1;
            printf("echo: %s", line);
            fflush(stdout);
            return 0;
        }
        n = read(0, line, sizeof line - 1);
        if (n <= 0) return 1;
        line[n] = 0;
        write(1, "echo: ", 6);
        write(1, line, n);
        close(1);
        close(0);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "fork") == 0) {
        int s = connect_to(argv[2], atoi(argv[3]));
        pid_t pid = fork();
        int status;
        if (pid == 0) {
            if (write(s, "child\n", 6) < 0)
                printf("child write: %s\n", strerror(errno));
            fflush(stdout);
            close(s);
            execl("/bin/echo", "echo", "child exec ran", (char *)0);
            _exit(127);
        }
        waitpid(pid, &status, 0);
        printf("child exit %d\n", WEXITSTATUS(status));
        if (write(s, "parent\n", 7) != 7) { perror("parent write"); return 1; }
        close(s);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "fds") == 0) {
        int s1 = socket(AF_INET, SOCK_STREAM, 0);
        int f1 = open("/dev/null", O_RDONLY);
        int s2 = socket(AF_INET, SOCK_DGRAM, 0);
        int f2 = open("/dev/null", O_RDONLY);
        int p[2], d;
        if (pipe(p) < 0) return 1;
        d = dup(s1);
        printf("distinct %d\n", s1 != f1 && s1 != s2 && s1 != f2 && f1 != s2 && s2 != f2
               && p[0] != s1 && p[1] != s2 && d != s1 && d != f1 && d != p[0]);
        close(s1);
        f1 = open("/dev/null", O_RDONLY);   /* may take s1's number: a file now */
        printf("file read %zd\n", read(f1, p, 1));  /* /dev/null: 0 */
        {
            int ty = 0;
            socklen_t len = sizeof ty;
            printf("dup still a stream socket %d\n",
                   getsockopt(d, SOL_SOCKET, SO_TYPE, &ty, &len) == 0 && ty == SOCK_STREAM);
            printf("file is no socket %d\n",
                   getsockopt(f1, SOL_SOCKET, SO_TYPE, &ty, &len) < 0 && errno == ENOTSOCK);
        }
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top\n");
    return 2;
}
