#!/bin/sh
# Captures the SYN-level headers the Debian scanners really send (fixtures for src/detect/fingerprint tests).
# Usage (root): bench/detect/capture-scanners.sh OUTDIR
# Two throw-away namespaces joined by a veth: sensor 198.18.0.1 (tcpdump), scanner 198.18.0.2.
# Every scanner run is bounded in count and time; the namespaces are deleted on exit.
set -eu
out=${1:-/tmp/tw-scanner-caps}
mkdir -p "$out"
id=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
s=tw${id}s; c=tw${id}c
cleanup() { ip netns del "$s" 2>/dev/null || true; ip netns del "$c" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$s"; ip netns add "$c"
ip link add "${s}0" netns "$s" type veth peer name "${c}0" netns "$c"
ip -n "$s" addr add 198.18.0.1/24 dev "${s}0"; ip -n "$c" addr add 198.18.0.2/24 dev "${c}0"
ip -n "$s" link set "${s}0" address 02:00:00:00:00:01; ip -n "$c" link set "${c}0" address 02:00:00:00:00:02
for n in "$s" "$c"; do ip -n "$n" link set lo up; done
ip -n "$s" link set "${s}0" up; ip -n "$c" link set "${c}0" up
# zmap sends from a spare address that does not answer ARP: give the sensor a static neighbour for it.
ip -n "$s" neigh replace 198.18.0.51 lladdr 02:00:00:00:00:02 dev "${s}0"
: > "$out/empty.conf"

cap() { # name, then the scanner command
  name=$1; shift
  ip netns exec "$s" timeout 30 tcpdump -i "${s}0" -U -s 128 -w "$out/$name.pcap" 'ip and (tcp or udp) and src net 198.18.0.0/24 and not src host 198.18.0.1' 2>/dev/null &
  tp=$!
  sleep 1
  ip netns exec "$c" "$@" >/dev/null 2>&1 || true
  sleep 1
  kill -INT $tp 2>/dev/null || true
  wait $tp 2>/dev/null || true
}
P=20-40
cap nmap-sS timeout 30 nmap -n -Pn -sS -p $P 198.18.0.1
cap nmap-sF timeout 30 nmap -n -Pn -sF -p $P 198.18.0.1
cap nmap-sN timeout 30 nmap -n -Pn -sN -p $P 198.18.0.1
cap nmap-sX timeout 30 nmap -n -Pn -sX -p $P 198.18.0.1
cap nmap-sA timeout 30 nmap -n -Pn -sA -p $P 198.18.0.1
cap nmap-sM timeout 30 nmap -n -Pn -sM -p $P 198.18.0.1
cap nmap-sU timeout 30 nmap -n -Pn -sU -p 50-55 198.18.0.1
cap nmap-sT timeout 30 nmap -n -Pn -sT -p $P 198.18.0.1
cap masscan timeout -s INT -k 5 20 masscan 198.18.0.1 -p$P --rate 200 -e "${c}0" --router-mac 02:00:00:00:00:01 --adapter-ip 198.18.0.50 --wait 1
cap zmap timeout -s INT -k 5 20 zmap -p 22 198.18.0.0/28 -i "${c}0" -G 02:00:00:00:00:01 -S 198.18.0.51 -r 200 -b "$out/empty.conf" -o - -c 1
cap hping3 timeout 20 hping3 -S -p 22 -c 3 -i u10000 198.18.0.1
cap hping3-udp timeout 20 hping3 --udp -p 53 -c 2 -i u10000 198.18.0.1
cap linux-connect timeout 5 sh -c 'for p in 22 80; do timeout 1 nc -z -w1 198.18.0.1 $p; done'
ls -la "$out"
