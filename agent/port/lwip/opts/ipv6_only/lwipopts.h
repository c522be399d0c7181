/* The adapter built for an IPv6-only lwIP. Compile check only. */
#include "/usr/include/lwip/lwipopts.h"
#undef LWIP_IPV4
#define LWIP_IPV4 0
#undef LWIP_ARP
#define LWIP_ARP 0
#undef LWIP_ICMP
#define LWIP_ICMP 0
#undef LWIP_IGMP
#define LWIP_IGMP 0
#undef IP_FORWARD
#define IP_FORWARD 0
