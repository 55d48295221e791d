/**
 * Charts, drawn with vega-lite and rendered to SVG headlessly by vega.
 * @module
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

/** Render a vega-lite spec to an SVG string. */
export async function renderVegaLite(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const SERIES = ['training episode', 'evaluation mean', 'evaluation ±1 std'];
// The band takes its line's colour (lighter by opacity), and both are in the legend.
const COLOURS = ['#ff7f0e', '#1f77b4', '#1f77b4'];
const colour = {
  field: 'series',
  type: 'nominal',
  title: null,
  scale: { domain: SERIES, range: COLOURS },
} as const;

/** The learning curve: episode returns (thin), and evaluation means with ±1 std bands in the same colour. */
export async function learningCurveSvg(
  episodes: readonly { step: number; return: number }[],
  evals: readonly { step: number; mean: number; std: number }[],
  title: string,
): Promise<string> {
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 640,
    height: 320,
    layer: [
      {
        data: {
          values: episodes.map((e) => ({ step: e.step, return: e.return, series: 'training episode' })),
        },
        mark: { type: 'line', opacity: 0.5, strokeWidth: 1 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'environment steps' },
          y: { field: 'return', type: 'quantitative', title: 'return' },
          color: colour,
        },
      },
      {
        data: {
          values: evals.map((e) => ({
            step: e.step,
            lo: e.mean - e.std,
            hi: e.mean + e.std,
            series: 'evaluation ±1 std',
          })),
        },
        mark: { type: 'area', opacity: 0.2 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
          color: colour,
        },
      },
      {
        data: { values: evals.map((e) => ({ step: e.step, return: e.mean, series: 'evaluation mean' })) },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'return', type: 'quantitative' },
          color: colour,
        },
      },
    ],
  };
  return renderVegaLite(spec);
}
