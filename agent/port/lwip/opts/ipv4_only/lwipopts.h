/* The adapter built for an IPv4-only lwIP. Compile check only. */
#include "/usr/include/lwip/lwipopts.h"
#undef LWIP_IPV6
#define LWIP_IPV6 0
