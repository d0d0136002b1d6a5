// The sensor host's own addresses, so its own traffic is never counted as incoming. The addon already
// captures incoming packets only (pcap_setdirection); this covers what the direction cannot: loopback
// and `any` (where a packet the host sends to itself shows up as incoming on lo), and bridges/tunnels
// that re-inject our packets. Refreshed by polling because Node has no address-change event.
import { hostAddresses } from '../core/addresses.js';

/** Calls onChange now and whenever the set of host addresses changes. */
export function watchOwnAddresses(onChange: (addrs: string[]) => void, intervalMs = 5000): () => void {
  let last = '';
  const check = (): void => {
    const addrs = hostAddresses();
    const key = addrs.join(',');
    if (key === last) return;
    last = key;
    onChange(addrs);
  };
  check();
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
