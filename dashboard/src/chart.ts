/**
 * Time-series charts with uPlot: a few KB, canvas-drawn, made for time series (x is epoch seconds).
 * Range bands are drawn on the plot's canvas in a hook: the registry's normal band filled, the valid
 * range's edges dashed.
 */
import uPlot from 'uplot';

export interface Band {
  readonly min: number;
  readonly max: number;
}

export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  /** Bars for counts per minute, lines otherwise. */
  readonly bars?: boolean;
}

export interface ChartSpec {
  readonly title: string;
  readonly unit?: string;
  readonly series: readonly SeriesSpec[];
  /** Expected operating band: filled. */
  readonly normal?: Band;
  /** Possible values: dashed edges. */
  readonly valid?: Band;
  readonly height?: number;
}

export interface TimeChart {
  readonly element: HTMLElement;
  /** x in epoch seconds; one array of y per series. */
  setData(x: readonly number[], ys: readonly (readonly (number | null)[])[]): void;
  /** How many points the chart holds (the end-to-end test checks it through a data attribute). */
  readonly points: number;
  destroy(): void;
}

const cssVar = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function bandsPlugin(spec: ChartSpec): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const { ctx, bbox } = u;
        ctx.save();
        if (spec.normal) {
          const top = u.valToPos(spec.normal.max, 'y', true);
          const bottom = u.valToPos(spec.normal.min, 'y', true);
          const y0 = Math.max(bbox.top, Math.min(top, bottom));
          const y1 = Math.min(bbox.top + bbox.height, Math.max(top, bottom));
          if (y1 > y0) {
            ctx.fillStyle = cssVar('--band-normal', 'rgba(46, 160, 67, 0.14)');
            ctx.fillRect(bbox.left, y0, bbox.width, y1 - y0);
          }
        }
        if (spec.valid) {
          ctx.strokeStyle = cssVar('--band-valid', 'rgba(207, 34, 46, 0.7)');
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = 1 * uPlot.pxRatio;
          for (const edge of [spec.valid.min, spec.valid.max]) {
            const y = u.valToPos(edge, 'y', true);
            if (y < bbox.top || y > bbox.top + bbox.height) continue;
            ctx.beginPath();
            ctx.moveTo(bbox.left, y);
            ctx.lineTo(bbox.left + bbox.width, y);
            ctx.stroke();
          }
        }
        ctx.restore();
      },
    },
  };
}

export function timeChart(spec: ChartSpec): TimeChart {
  const element = document.createElement('div');
  element.className = 'chart';
  element.setAttribute('role', 'img');
  element.setAttribute('aria-label', `${spec.title}${spec.unit ? ` (${spec.unit})` : ''}, chart over time`);
  let points = 0;
  let plot: uPlot | undefined;
  let data: uPlot.AlignedData = [[], ...spec.series.map(() => [])];
  const text = cssVar('--text-muted', '#57606a');
  const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');

  const yRange = (_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax => {
    // Keep the normal band in view, so a value's distance from it is visible.
    let low = min ?? spec.normal?.min ?? 0;
    let high = max ?? spec.normal?.max ?? 1;
    if (spec.normal) {
      low = Math.min(low, spec.normal.min);
      high = Math.max(high, spec.normal.max);
    }
    if (low === high) {
      low -= 1;
      high += 1;
    }
    const pad = (high - low) * 0.08;
    return [low - pad, high + pad];
  };

  const create = (width: number) => {
    plot = new uPlot(
      {
        width,
        height: spec.height ?? 220,
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: yRange } },
        axes: [
          { stroke: text, grid: { stroke: grid } },
          { stroke: text, grid: { stroke: grid }, label: spec.unit ?? '', size: 60 },
        ],
        series: [
          {},
          ...spec.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            spanGaps: false,
            ...(s.bars ? { paths: uPlot.paths.bars?.({ size: [0.6, 40] }), fill: s.color } : {}),
            points: { show: !s.bars },
          })),
        ],
        plugins: [bandsPlugin(spec)],
      },
      data,
      element,
    );
  };

  // Sized by its container: created once it has a width, resized with it.
  const observer = new ResizeObserver(() => {
    const width = Math.floor(element.clientWidth);
    if (width <= 0) return;
    if (!plot) create(width);
    else if (Math.abs(plot.width - width) > 1) plot.setSize({ width, height: spec.height ?? 220 });
  });
  observer.observe(element);

  return {
    element,
    get points() {
      return points;
    },
    setData(x, ys) {
      data = [Float64Array.from(x), ...ys.map((y) => y.map((v) => v))] as unknown as uPlot.AlignedData;
      points = x.length;
      element.dataset.points = String(points);
      plot?.setData(data);
    },
    destroy() {
      observer.disconnect();
      plot?.destroy();
    },
  };
}
