// A thin uPlot wrapper: the plot is created once per series layout and fed with setData()
// on every poll (no re-creation, no React diffing of thousands of SVG nodes), and it follows
// its container's width.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  color: string; // a CSS variable name like "--color-chart-1", or a literal color
  fill?: boolean;
  bars?: boolean;
}

function resolveColor(c: string): string {
  if (!c.startsWith('--')) return c;
  const v = getComputedStyle(document.documentElement).getPropertyValue(c).trim();
  return v || '#8b6cff';
}

function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m || m[1] === undefined) return color;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function Chart({
  data,
  series,
  height = 220,
  xKind,
  yFormat,
  ariaLabel,
  legend = true,
}: {
  /** [x values, ...one array per series] */
  data: uPlot.AlignedData;
  series: SeriesSpec[];
  height?: number;
  /** 'time': x is Unix seconds; 'minutesAgo': x is minutes relative to now (-14..0). */
  xKind: 'time' | 'minutesAgo';
  yFormat?: (v: number) => string;
  ariaLabel: string;
  legend?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  useEffect(() => {
    dataRef.current = data;
  }, [data]);
  const layout = JSON.stringify({ series, height, xKind, legend });

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const grid = resolveColor('--color-border');
    const axisText = resolveColor('--color-subtle');
    const font = '11px Inter, ui-sans-serif, system-ui, sans-serif';
    const fmt = yFormat ?? ((v: number) => String(v));
    const axis: uPlot.Axis = {
      stroke: axisText,
      font,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
    };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      padding: [8, 8, 0, 0],
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { show: legend, live: true },
      scales: {
        // a time axis spans at least a minute, so the first samples do not zoom to milliseconds
        x:
          xKind === 'time'
            ? { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] }
            : { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
        y: { range: (_u, _min, max) => [0, Math.max(max * 1.15, 1)] },
      },
      axes: [
        {
          ...axis,
          ...(xKind === 'minutesAgo'
            ? { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => (t === 0 ? 'now' : `${t}m`)) }
            : {}),
        },
        { ...axis, size: 52, values: (_u: uPlot, ticks: number[]) => ticks.map(fmt) },
      ],
      series: [
        {
          label: xKind === 'time' ? 'Time' : 'Minute',
          value:
            xKind === 'minutesAgo'
              ? (_u, v) => (v == null ? '—' : v === 0 ? 'this minute' : `${v} min`)
              : (_u, v) => (v == null ? '—' : new Date(v * 1000).toLocaleTimeString('en-GB')),
        },
        ...series.map((s): uPlot.Series => {
          const c = resolveColor(s.color);
          return {
            label: s.label,
            stroke: c,
            width: 2,
            fill: s.fill || s.bars ? withAlpha(c, s.bars ? 0.55 : 0.12) : undefined,
            paths: s.bars ? uPlot.paths.bars?.({ size: [0.7, 40], gap: 2 }) : undefined,
            // uPlot's default: dots only while samples are sparse (the first polls)
            points: s.bars ? { show: false } : { size: 5 },
            value: (_u, v) => (v == null ? '—' : fmt(v)),
          };
        }),
      ],
    };
    const u = new uPlot(opts, dataRef.current, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== u.width) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // the layout string captures everything the plot is built from
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layout]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={box} role="img" aria-label={ariaLabel} className="w-full min-w-0" />;
}
