/* The adapter built for NO_SYS=1 (bare metal, one context, no mutex): Debian's
 * unix lwipopts.h with the threaded parts switched off. Compile check only. */
#include "/usr/include/lwip/lwipopts.h"
#undef NO_SYS
#define NO_SYS 1
#undef LWIP_TCPIP_CORE_LOCKING
#define LWIP_TCPIP_CORE_LOCKING 0
#undef LWIP_SOCKET
#define LWIP_SOCKET 0
#undef LWIP_NETCONN
#define LWIP_NETCONN 0
#undef LWIP_ASSERT_CORE_LOCKED
#define LWIP_ASSERT_CORE_LOCKED()
