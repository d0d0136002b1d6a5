// How tests and benchmarks start Debian's chromium through playwright-core: headless, no sandbox (root in a
// namespace), and nothing it would fetch on its own (updates, sync, QUIC), so every request seen is the page's.
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
