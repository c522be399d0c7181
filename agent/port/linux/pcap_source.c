int vigil_placeholder_pcap(void);
int vigil_placeholder_pcap(void){return 0;}
