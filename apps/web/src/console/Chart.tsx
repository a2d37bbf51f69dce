/** A bar chart in plain SVG: one bar per point, the largest value labelled (no chart library). */
export function BarChart({ title, points, format = String }: { title: string; points: Array<{ label: string; value: number }>; format?: (n: number) => string }) {
  const W = 300;
  const H = 110;
  const max = Math.max(1, ...points.map((p) => p.value));
  const bw = points.length ? W / points.length : W;
  const total = points.reduce((s, p) => s + p.value, 0);
  return (
    <figure class="card chart" style={{ margin: 0 }}>
      <figcaption>
        <strong>{title}</strong> <span class="muted">max {format(points.length ? Math.max(...points.map((p) => p.value)) : 0)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H + 14}`} role="img" aria-label={`${title}: ${points.map((p) => `${p.label} ${format(p.value)}`).join(', ') || 'no data'}`}>
        {points.map((p, i) => {
          const h = (p.value / max) * H;
          return (
            <rect key={p.label} x={i * bw + 1} y={H - h} width={Math.max(1, bw - 2)} height={h}>
              <title>{`${p.label}: ${format(p.value)}`}</title>
            </rect>
          );
        })}
        <line x1="0" y1={H} x2={W} y2={H} stroke="#ccc" />
        {points.length > 0 && (
          <>
            <text x="0" y={H + 11}>{points[0]!.label}</text>
            <text x={W} y={H + 11} text-anchor="end">{points[points.length - 1]!.label}</text>
          </>
        )}
        {!points.length || total === 0 ? <text x={W / 2} y={H / 2} text-anchor="middle">no usage recorded</text> : null}
      </svg>
    </figure>
  );
}

export function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
