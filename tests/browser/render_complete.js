(title) => {
  // The page is complete when the script run has finished, the page's h1 is the expected title, every
  // plotly chart has drawn (.main-svg), every visible dataframe has its grid canvas (with
  // window.__hive_need_table, at least one), no visible lazy element is still a skeleton, and all of
  // that has held for 250 ms (React commits a frame or two after the state flips). Returns the
  // performance.now() of the first poll of that stable streak, else false. Shared by the browser tests
  // and bench/bench_dashboard.py.
  const ok = (() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const h1 = document.querySelector('[data-testid="stMain"] h1');
    if (!h1 || (title !== null && h1.textContent.trim() !== title)) return false;
    for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
      if (!chart.querySelector('.main-svg')) return false;
    }
    const visible = (el) => el.getClientRects().length > 0;
    for (const grid of document.querySelectorAll('[data-testid="stDataFrame"]')) {
      if (visible(grid) && !grid.querySelector('[data-testid="data-grid-canvas"]')) return false;
    }
    if (window.__hive_need_table && !document.querySelector('[data-testid="stDataFrame"] [data-testid="data-grid-canvas"]')) return false;
    return ![...document.querySelectorAll('[data-testid="stMain"] [data-testid="stSkeleton"]')].some(visible);
  })();
  const now = performance.now();
  if (!ok) { window.__hive_ok_since = null; return false; }
  if (window.__hive_ok_since == null) window.__hive_ok_since = now;
  return now - window.__hive_ok_since >= 250 ? window.__hive_ok_since : false;
}
