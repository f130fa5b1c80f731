/*
 * 4.4BSD IPC tutorial, Figure 6b: "Sending an Internet domain datagram".
 *
 * Changed from the tutorial only where a modern compiler insists:
 *  - headers: <stdlib.h> (exit, atoi), <string.h> (bcopy), <unistd.h> (close),
 *    <arpa/inet.h> (htons);
 *  - "main(argc, argv) int argc; char *argv[];" is "int main(int argc, char *argv[])";
 *  - the old-style declaration "struct hostent *gethostbyname();" is dropped
 *    (<netdb.h> declares it with its prototype);
 *  - the address argument of sendto is cast to (struct sockaddr *).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#define DATA "The sea is calm tonight, the tide is full . . ."

/*
 * Here I send a datagram to a receiver whose name I get from the command
 * line arguments.  The form of the command line is dgramsend hostname
 * portnumber
 */

int main(int argc, char *argv[])
{
    int sock;
    struct sockaddr_in name;
    struct hostent *hp;

    /* Create socket on which to send. */
    sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0) {
        perror("opening datagram socket");
        exit(1);
    }
    /*
     * Construct name, with no wildcards, of the socket to send to.
     * Gethostbyname() returns a structure including the network address
     * of the specified host.  The port number is taken from the command
     * line.
     */
    hp = gethostbyname(argv[1]);
    if (hp == 0) {
        fprintf(stderr, "%s: unknown host\n", argv[1]);
        exit(2);
    }
    bcopy(hp->h_addr, &name.sin_addr, hp->h_length);
    name.sin_family = AF_INET;
    name.sin_port = htons(atoi(argv[2]));
    /* Send message. */
    if (sendto(sock, DATA, sizeof(DATA), 0, (struct sockaddr *)&name, sizeof(name)) < 0)
        perror("sending datagram message");
    close(sock);
}
