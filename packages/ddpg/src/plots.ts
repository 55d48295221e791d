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

/** The learning curve: episode returns (thin), and evaluation means with ±1 std bands. */
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
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
      {
        data: { values: evals.map((e) => ({ step: e.step, lo: e.mean - e.std, hi: e.mean + e.std })) },
        mark: { type: 'area', opacity: 0.2, color: '#d62728' },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
        },
      },
      {
        data: { values: evals.map((e) => ({ step: e.step, return: e.mean, series: 'evaluation mean' })) },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'return', type: 'quantitative' },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
    ],
  };
  return renderVegaLite(spec);
}
