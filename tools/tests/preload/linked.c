/* Links libnetstack_preload on purpose and uses netstack.h's names. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netstack.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in a;
    int s;
    if (argc != 3) return 2;
    if (netstack_start() < 0) { perror("netstack_start"); return 1; }
    s = netstack_socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { perror("netstack_socket"); return 1; }
    printf("stack socket %d\n", netstack_is_socket(s));
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[2]));
    a.sin_addr.s_addr = inet_addr(argv[1]);
    if (netstack_connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
    if (netstack_write(s, "linked on purpose\n", 18) != 18) { perror("write"); return 1; }
    netstack_close(s);
    printf("stdout is no stack socket %d\n", netstack_is_socket(1) == 0);
    return 0;
}
