/*
 * Notes on Interprocess Communication in Unix (Dollimore), section 3: the
 * stream procedures of Figure 5 (startUp, acceptConnection), Figure 6
 * (readAndWrite) and Figure 7 (requestConnection, writeAndRead), with a main
 * doing Figure 9's actions:
 *     ipc_stream server PORT     s2 = startUp(PORT); s3 = acceptConnection(s2);
 *                                readAndWrite(s3, 10); close(s2)
 *     ipc_stream client HOST PORT
 *                                s1 = requestConnection(HOST, PORT);
 *                                writeAndRead(s1, "hello", "there", 5, 5)
 *
 * Changed from the notes only where a modern compiler insists, or where the
 * notes leave the program unfinished:
 *  - headers: <stdio.h>, <stdlib.h> (exit), <string.h>, <unistd.h> (read,
 *    write, close), <arpa/inet.h> (htons); prototypes first;
 *  - SIZE, which the notes use without defining, is 1024;
 *  - makeReceiverSA and makeDestSA are the notes' section 2 procedures;
 *  - the address arguments are cast to (struct sockaddr *), clientLen is a
 *    socklen_t; "exit()" (too few arguments) is "exit(1)";
 *  - writeAndRead prints what it reads back (the line marked "added"), since
 *    the notes' version discards it.
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

void makeReceiverSA(struct sockaddr_in *sa, int port);
void makeDestSA(struct sockaddr_in *sa, char *hostname, int port);

int startUp(int serverPort)
{
    struct sockaddr_in serverSocketAddress;
    int s;

    s = socket(AF_INET, SOCK_STREAM, 0);
    makeReceiverSA(&serverSocketAddress, serverPort);
    if (bind(s, (struct sockaddr *)&serverSocketAddress, sizeof(struct sockaddr_in))!= 0)
        perror("Bind failed\n");
    listen(s,5);
    return(s);
}

/*server accepts connection through new socket that it returns */
int acceptConnection(int s)
{
    struct sockaddr_in clientSocketAddress;
    int sNew;
    socklen_t clientLen;

    clientLen = sizeof(clientSocketAddress);
    if((sNew = accept(s, (struct sockaddr *)&clientSocketAddress, &clientLen)) <0) {
        perror("Accept fails:\n");
        close(s);
        exit(1);
    }
    return sNew;
}

void readAndWrite(int s, int amount) /*server receives amount bytes & sends it back*/
{
    int n, nRead;
    char buf[SIZE], *p = buf;

    nRead = 0;
    if(amount>SIZE)perror("Amount too much");
    while (nRead < amount) {
        if((n = read(s, p, amount-nRead))<0) perror("Receive");
        else if(n==0) break;
        else{
            p += n;
            nRead += n;
        }
    }
    if((n = write(s, buf, nRead) )< 0) perror("Send2 failed\n");
    else printf("wrote %d\n",n);
    close(s);
}

int requestConnection(char *serverMachine, int serverPort)
{
    int s;
    struct sockaddr_in serverSocketAddress;
    s = socket(AF_INET, SOCK_STREAM, 0);
    makeDestSA(&serverSocketAddress, serverMachine, serverPort);
    if (connect(s, (struct sockaddr *)&serverSocketAddress, sizeof(struct sockaddr_in))<0) {
        perror("Connect fails:\n");
        close(s);
        exit(1);
    }
    return s;
}

void writeAndRead(int s, char *message1, char *message2, int len1, int len2)
{
    int n;
    char buf [SIZE];

    if((n = write(s, message1, len1))<0) perror("Send");
    if((n = write(s, message2, len2))<0) perror("Send");
    do{
        if((n = read(s, buf, SIZE))<0) perror("Receive");
        else if (n > 0) printf("read %d: %.*s\n", n, n, buf);   /* added */
    } while(n > 0);
    close(s);
}

void makeReceiverSA(struct sockaddr_in *sa, int port)
{
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
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

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "server") == 0) {
        int s2 = startUp(atoi(argv[2]));
        int s3;
        printf("listening on port %s\n", argv[2]);
        fflush(stdout);
        s3 = acceptConnection(s2);
        readAndWrite(s3, 10);
        close(s2);
    } else if (argc == 4 && strcmp(argv[1], "client") == 0) {
        int s1 = requestConnection(argv[2], atoi(argv[3]));
        writeAndRead(s1, "hello", "there", 5, 5);
    } else {
        fprintf(stderr, "usage: %s server PORT | client HOST PORT\n", argv[0]);
        return 2;
    }
    return 0;
}
