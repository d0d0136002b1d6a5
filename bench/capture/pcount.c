/* The C reference for bench/capture: pcap_loop over a file, decoding the same headers the TypeScript
 * counters decode (Ethernet + 802.1Q/QinQ, SLL, SLL2, raw IP; IPv4 with IHL and fragments; IPv6 with the
 * common extension headers; TCP flags and destination port; UDP destination port) and counting per port,
 * per IP protocol and per ethertype, with every length checked. Prints the totals so the work is not
 * optimised away.  Build: cc -O2 -o pcount pcount.c -lpcap */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t tcp_all[65536], tcp_syn[65536], udp[65536], ipproto[256], ether[65536];
static uint64_t packets, malformed;
static int linktype;

static inline uint16_t be16(const u_char *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void l4(const u_char *p, uint32_t len, int proto) {
  ipproto[proto]++;
  if (proto == 6) {
    if (len < 20 || (p[12] >> 4) * 4 < 20) { malformed++; return; }
    uint16_t d = be16(p + 2);
    tcp_all[d]++;
    if ((p[13] & 0x12) == 0x02) tcp_syn[d]++;
  } else if (proto == 17) {
    if (len < 8) { malformed++; return; }
    udp[be16(p + 2)]++;
  }
}

static void ip(const u_char *p, uint32_t len) {
  if (len < 1) { malformed++; return; }
  int v = p[0] >> 4;
  if (v == 4) {
    uint32_t ihl = (p[0] & 15) * 4;
    if (len < 20 || ihl < 20 || len < ihl) { malformed++; return; }
    uint32_t tot = be16(p + 2);
    if (tot < ihl) { malformed++; return; }
    if (tot < len) len = tot;
    if (be16(p + 6) & 0x1fff) { ipproto[p[9]]++; return; } /* later fragment: no ports */
    l4(p + ihl, len - ihl, p[9]);
  } else if (v == 6) {
    if (len < 40) { malformed++; return; }
    uint32_t plen = be16(p + 4);
    if (40 + plen < len) len = 40 + plen;
    int nh = p[6];
    uint32_t off = 40;
    for (int i = 0; i < 8; i++) {
      if (nh == 0 || nh == 43 || nh == 60) {
        if (len < off + 8) { malformed++; return; }
        int n = p[off];
        off += (p[off + 1] + 1) * 8;
        nh = n;
      } else if (nh == 44) {
        if (len < off + 8) { malformed++; return; }
        int n = p[off];
        int later = (be16(p + off + 2) & 0xfff8) != 0;
        off += 8;
        nh = n;
        if (later) { ipproto[nh]++; return; }
      } else break;
    }
    if (off > len) { malformed++; return; }
    l4(p + off, len - off, nh);
  } else malformed++;
}

static void cb(u_char *u, const struct pcap_pkthdr *h, const u_char *p) {
  (void)u;
  packets++;
  uint32_t len = h->caplen, off;
  uint16_t type;
  if (linktype == 1) {
    if (len < 14) { malformed++; return; }
    type = be16(p + 12);
    off = 14;
    while (type == 0x8100 || type == 0x88a8) {
      if (len < off + 4) { malformed++; return; }
      type = be16(p + off + 2);
      off += 4;
    }
  } else if (linktype == 113) {
    if (len < 16) { malformed++; return; }
    type = be16(p + 14);
    off = 16;
  } else if (linktype == 276) {
    if (len < 20) { malformed++; return; }
    type = be16(p);
    off = 20;
  } else {
    if (len < 1) { malformed++; return; }
    type = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
    off = 0;
  }
  ether[type]++;
  if (type == 0x0800 || type == 0x86dd) ip(p + off, len - off);
}

int main(int argc, char **argv) {
  char err[PCAP_ERRBUF_SIZE];
  if (argc < 2) { fprintf(stderr, "usage: pcount FILE\n"); return 2; }
  pcap_t *pc = pcap_open_offline(argv[1], err);
  if (!pc) { fprintf(stderr, "%s\n", err); return 1; }
  linktype = pcap_datalink(pc);
  pcap_loop(pc, -1, cb, NULL);
  uint64_t syn = 0, all = 0, u = 0;
  for (int i = 0; i < 65536; i++) { syn += tcp_syn[i]; all += tcp_all[i]; u += udp[i]; }
  printf("{\"packets\":%llu,\"malformed\":%llu,\"tcp_all\":%llu,\"tcp_syn\":%llu,\"udp\":%llu}\n",
         (unsigned long long)packets, (unsigned long long)malformed, (unsigned long long)all,
         (unsigned long long)syn, (unsigned long long)u);
  pcap_close(pc);
  return 0;
}
