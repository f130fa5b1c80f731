/*
 * Notes on Interprocess Communication in Unix (Dollimore), section 2: the
 * datagram procedures of Figure 2 (sender, makeLocalSA, makeDestSA), Figure 3
 * (printSA; receiver, makeReceiverSA) and section 2.7 (setBroadcast), with a
 * small main:
 *     ipc_dgram send HOST PORT MESSAGE1 MESSAGE2
 *     ipc_dgram receive PORT
 *
 * Changed from the notes only where a modern compiler insists, or where the
 * notes leave the program unfinished:
 *  - headers: <stdio.h>, <stdlib.h> (exit), <string.h> (strlen, memset),
 *    <unistd.h> (close), <arpa/inet.h> (htons, inet_ntoa); prototypes first;
 *  - SIZE, which the notes use without defining, is 1024 (their advice: "use 1K");
 *  - the address arguments are cast to (struct sockaddr *), and aLength is a
 *    socklen_t, as the prototypes of bind and recvfrom require;
 *  - receiver: the stray "}" after each recvfrom (a syntax error) is removed;
 *    the message buffers are cleared first and what arrived is printed with
 *    printSA (added lines are marked "added"), since the notes' receiver
 *    discards it.
 * The notes' "(n = recvfrom(...) < 0)" stays: it assigns the comparison to n.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#define SIZE 1024

void makeLocalSA(struct sockaddr_in *sa);
void makeDestSA(struct sockaddr_in *sa, char *hostname, int port);
void makeReceiverSA(struct sockaddr_in *sa, int port);
void setBroadcast(int s);
void printSA(struct sockaddr_in sa);

/* send 2 messages to machine at port number */
void sender(char *message1, char *message2, char *machine, int port)
{
    int s, n;
    struct sockaddr_in mySocketAddress, yourSocketAddress;
    if(( s = socket(AF_INET, SOCK_DGRAM, 0))<0) {
        perror("socket failed");
        return;
    }
    setBroadcast(s);      /*see Section 2.7 */
    makeLocalSA(&mySocketAddress);
    if( bind(s, (struct sockaddr *)&mySocketAddress, sizeof(struct sockaddr_in))!= 0){
        perror("Bind failed\n");
        close (s);
        return;
    }
    makeDestSA(&yourSocketAddress,machine, port);
    if( (n = sendto(s, message1, strlen(message1), 0, (struct sockaddr *)&yourSocketAddress,
        sizeof(struct sockaddr_in))) < 0) perror("Send 2 failed\n");
    if( (n = sendto(s, message2, strlen(message2), 0, (struct sockaddr *)&yourSocketAddress,
        sizeof(struct sockaddr_in))) < 0) perror("Send 2 failed\n");
    close(s);
}

void makeLocalSA(struct sockaddr_in *sa)
{
    sa->sin_family = AF_INET;
    sa->sin_port = htons(0);
    sa-> sin_addr.s_addr = htonl(INADDR_ANY);
}

void makeDestSA(struct sockaddr_in * sa, char *hostname, int port)
{
    struct hostent *host;
    sa->sin_family = AF_INET;
    if((host = gethostbyname(hostname))== NULL){
        printf("Unknown host name\n");
        exit(-1);
    }
    sa-> sin_addr = *(struct in_addr *) (host->h_addr);
    sa->sin_port = htons(port);
}

void printSA(struct sockaddr_in sa)
{
    printf("sa = %d, %s, %d\n", sa.sin_family,
          inet_ntoa(sa.sin_addr), ntohs(sa.sin_port));
}

/*receive two messages through port given as argument*/
void receiver(int port)
{
    char message1[SIZE], message2[SIZE];
    struct sockaddr_in mySocketAddress, aSocketAddress;
    int s, n;
    socklen_t aLength;

    if((s = socket(AF_INET, SOCK_DGRAM, 0))<0) {
        perror("socket failed");
        return;
    }
    makeReceiverSA(&mySocketAddress, port);
    if( bind(s, (struct sockaddr *)&mySocketAddress, sizeof(struct sockaddr_in))!= 0){
        perror("Bind failed\n");
        close(s);
        return;
    }
    memset(message1, 0, SIZE); memset(message2, 0, SIZE);       /* added */
    printf("receiving on port %d\n", port); fflush(stdout);      /* added */
    aLength = sizeof(aSocketAddress);
    aSocketAddress.sin_family = AF_INET; /* note that this is needed */
    if((n = recvfrom(s, message1, SIZE, 0, (struct sockaddr *)&aSocketAddress, &aLength)<0))
        perror("Receive 1") ;
    printf("message 1: %s\n", message1);                         /* added */
    if((n = recvfrom(s, message2, SIZE, 0, (struct sockaddr *)&aSocketAddress, &aLength)<0))
        perror("Receive 2");
    printf("message 2: %s\n", message2);                         /* added */
    printSA(aSocketAddress);                                      /* added */
    close(s);
}
void makeReceiverSA(struct sockaddr_in *sa, int port)
{
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa-> sin_addr.s_addr = htonl(INADDR_ANY);
}

void setBroadcast(int s)
{
    int arg;
    #ifdef SO_BROADCAST
    arg =1;
    if(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &arg, sizeof(arg)) <0){
        perror("setsockopt SO_BROADCAST---");
        exit(-1);
    }
    #endif
}

int main(int argc, char *argv[])
{
    if (argc == 6 && strcmp(argv[1], "send") == 0)
        sender(argv[4], argv[5], argv[2], atoi(argv[3]));
    else if (argc == 3 && strcmp(argv[1], "receive") == 0)
        receiver(atoi(argv[2]));
    else {
        fprintf(stderr, "usage: %s send HOST PORT MESSAGE1 MESSAGE2 | receive PORT\n", argv[0]);
        return 2;
    }
    return 0;
}
