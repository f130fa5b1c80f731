/*
 * 4.2BSD IPC primer, Figure 5: "Flushing terminal i/o on receipt of out of
 * band data" (the remote login client's SIGURG handler), with a small main:
 *     primer_fig5 HOST PORT
 * connects to HOST:PORT, makes itself the socket's owner (F_SETOWN) so that
 * urgent data brings SIGURG, installs oob() as the primer does, and reads the
 * connection to its end, printing what it reads.
 *
 * Changed from the primer only where a modern compiler or Linux insists:
 *  - headers and prototypes; "oob()" is "void oob(int sig)" (a signal handler);
 *  - "mark" is an int: SIOCATMARK stores an int (a char would be overrun);
 *    recv(..., &mark, 1, MSG_OOB) fills its first byte, as it filled the char;
 *  - SOF_OOB is MSG_OOB, its later name;
 *  - TIOCFLUSH (BSD's terminal flush) does not exist on Linux: that line is
 *    kept under #ifdef TIOCFLUSH;
 *  - the primer's "..." after the recv prints the urgent byte and how much was
 *    flushed (marked "added"); "rem" is the connected socket.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rem;
static long flushed;                                           /* added */

void oob(int sig)
{
    int out = 1+1;
    char waste[BUFSIZ];
    int mark;
    int n;                                                     /* added */

    (void)sig; (void)out;
    signal(SIGURG, oob);
    /* flush local terminal input and output */
#ifdef TIOCFLUSH
    ioctl(1, TIOCFLUSH, (char *)&out);
#endif
    for (;;) {
        if (ioctl(rem, SIOCATMARK, &mark) < 0) {
            perror("ioctl");
            break;
        }
        if (mark)
            break;
        n = read(rem, waste, sizeof (waste));                  /* "(void)" became "n =" */
        if (n > 0) flushed += n;                               /* added */
        if (n == 0) break;                                     /* added: no mark to reach */
    }
    mark = 0;                                                  /* added */
    if (recv(rem, &mark, 1, MSG_OOB) == 1)                     /* added: print it */
        printf("urgent byte '%c' after flushing %ld bytes\n", (char)mark, flushed);
    else
        perror("recv MSG_OOB");
    fflush(stdout);                                            /* added */
}

int main(int argc, char *argv[])
{
    struct sockaddr_in server;
    struct hostent *hp;
    char buf[1024];
    int n;
    long total = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    rem = socket(AF_INET, SOCK_STREAM, 0);
    if (rem < 0) {
        perror("socket");
        return 1;
    }
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    if ((hp = gethostbyname(argv[1])) == 0) {
        fprintf(stderr, "%s: unknown host\n", argv[1]);
        return 2;
    }
    memcpy(&server.sin_addr, hp->h_addr, hp->h_length);
    server.sin_port = htons(atoi(argv[2]));
    signal(SIGURG, oob);
    if (fcntl(rem, F_SETOWN, getpid()) < 0) {
        perror("fcntl F_SETOWN");
        return 1;
    }
    if (connect(rem, (struct sockaddr *)&server, sizeof server) < 0) {
        perror("connect");
        return 1;
    }
    while ((n = read(rem, buf, sizeof buf)) != 0) {
        if (n < 0) {
            perror("read");
            return 1;
        }
        total += n;
        if (memchr(buf, '!', n))
            printf("read the end marker\n");
    }
    printf("connection closed after %ld bytes in the main loop\n", total);
    return 0;
}
