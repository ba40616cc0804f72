() => {
  // What each plotly chart on the page shows a person: its title as drawn, its axis titles (3-D
  // ones are drawn in WebGL, so they are read from the layout; plotly's "Click to enter ..."
  // stands for no title), its legend entries, its size, and every pair of labels (title,
  // annotations, axis titles, legend box) that overlap on screen.
  const box = (node) => { const r = node.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const meet = (a, b) => a.l < b.r - 1 && b.l < a.r - 1 && a.t < b.b - 1 && b.t < a.b - 1;
  const titleOf = (axis) => {
    const text = axis && axis.title && axis.title.text;
    return text && !text.startsWith('Click to enter') ? text : '';
  };
  return [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')].map((plot) => {
    const layout = plot._fullLayout;
    const axes = {};
    for (const key of Object.keys(layout)) {
      if (/^[xy]axis\d*$/.test(key)) axes[key] = titleOf(layout[key]);
      if (/^scene\d*$/.test(key)) for (const a of ['xaxis', 'yaxis', 'zaxis']) axes[`${key}.${a}`] = titleOf(layout[key][a]);
    }
    const labels = [...plot.querySelectorAll('.gtitle, .annotation-text, [class$="title"][class^="x"], [class$="title"][class^="y"], .legend .bg')]
      .filter((node) => node.getBoundingClientRect().width > 0)
      .map((node) => ({name: `${node.getAttribute('class')}: ${(node.textContent || '').slice(0, 60)}`, box: box(node)}));
    const overlaps = [];
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) {
        if (meet(labels[i].box, labels[j].box)) overlaps.push([labels[i].name, labels[j].name]);
      }
    }
    const size = box(plot);
    return {title: (plot.querySelector('.gtitle') || {}).textContent || '', axes, overlaps,
            legend: [...plot.querySelectorAll('.legendtext')].map((node) => node.textContent),
            width: size.r - size.l, height: size.b - size.t};
  });
}
