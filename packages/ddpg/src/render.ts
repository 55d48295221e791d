/**
 * Animated SVG of an episode (SMIL animation; opens in any browser). It stands in for the
 * seeds' Gym Monitor video.
 * @module
 */

/** One frame: the env's `physicalState()` after a step. */
export type Frame = Record<string, number>;

const fmt = (v: number) => Number(v.toFixed(3)).toString();

function frameTimes(n: number): string {
  return Array.from({ length: n }, (_, i) => fmt(n === 1 ? 0 : i / (n - 1))).join(';');
}

/**
 * Pendulum-v1: a rod swinging about its pivot; θ = 0 is upright. Every shape's static
 * attributes hold the first frame, so viewers that do not animate show where the episode
 * starts, not the goal.
 */
function pendulumSvg(frames: readonly Frame[], seconds: number, title: string): string {
  // SVG rotates clockwise; θ is counter-clockwise from upright.
  const angleList = frames.map((f) => fmt((-(f.theta ?? 0) * 180) / Math.PI));
  const angles = angleList.join(';');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="340" viewBox="-160 -170 320 340">
  <title>${title}</title>
  <rect x="-160" y="-170" width="320" height="340" fill="white"/>
  <text x="0" y="-150" text-anchor="middle" font-family="sans-serif" font-size="12">${title}</text>
  <g transform="rotate(${angleList[0]})">
    <line x1="0" y1="0" x2="0" y2="-110" stroke="#c0392b" stroke-width="16" stroke-linecap="round"/>
    <animateTransform attributeName="transform" type="rotate" values="${angles}" keyTimes="${frameTimes(frames.length)}" dur="${seconds}s" repeatCount="indefinite"/>
  </g>
  <circle cx="0" cy="0" r="5" fill="black"/>
</svg>
`;
}

/** MountainCarContinuous-v0: a car on the hill y = sin(3x). */
function mountainCarSvg(frames: readonly Frame[], seconds: number, title: string): string {
  const W = 600;
  const H = 300;
  const sx = (x: number) => ((x + 1.2) / 1.8) * W;
  const sy = (x: number) => H - 40 - (Math.sin(3 * x) * 0.45 + 0.55) * (H - 80);
  const hill = Array.from({ length: 101 }, (_, i) => {
    const x = -1.2 + (1.8 * i) / 100;
    return `${fmt(sx(x))},${fmt(sy(x))}`;
  }).join(' ');
  const xs = frames.map((f) => fmt(sx(f.position ?? 0))).join(';');
  const ys = frames.map((f) => fmt(sy(f.position ?? 0) - 8)).join(';');
  const kt = frameTimes(frames.length);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
  <title>${title}</title>
  <rect width="${W}" height="${H}" fill="white"/>
  <text x="${W / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="12">${title}</text>
  <polyline points="${hill}" fill="none" stroke="black" stroke-width="2"/>
  <line x1="${fmt(sx(0.45))}" y1="${fmt(sy(0.45))}" x2="${fmt(sx(0.45))}" y2="${fmt(sy(0.45) - 40)}" stroke="black"/>
  <polygon points="${fmt(sx(0.45))},${fmt(sy(0.45) - 40)} ${fmt(sx(0.45) + 20)},${fmt(sy(0.45) - 34)} ${fmt(sx(0.45))},${fmt(sy(0.45) - 28)}" fill="#f1c40f"/>
  <circle r="9" fill="#2c3e50" cx="${fmt(sx(frames[0]?.position ?? 0))}" cy="${fmt(sy(frames[0]?.position ?? 0) - 8)}">
    <animate attributeName="cx" values="${xs}" keyTimes="${kt}" dur="${seconds}s" repeatCount="indefinite"/>
    <animate attributeName="cy" values="${ys}" keyTimes="${kt}" dur="${seconds}s" repeatCount="indefinite"/>
  </circle>
</svg>
`;
}

/** LQR: a point mass on a line, the target at 0. */
function lqrSvg(frames: readonly Frame[], seconds: number, title: string): string {
  const W = 600;
  const key =
    Object.keys(frames[0] ?? {}).find((k) => /pos|x0|x/.test(k)) ?? Object.keys(frames[0] ?? {})[0] ?? 'x';
  const lim = Math.max(1, ...frames.map((f) => Math.abs(f[key] ?? 0)));
  const sx = (x: number) => W / 2 + (x / lim) * (W / 2 - 20);
  const xs = frames.map((f) => fmt(sx(f[key] ?? 0))).join(';');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="120">
  <title>${title}</title>
  <rect width="${W}" height="120" fill="white"/>
  <text x="${W / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="12">${title}</text>
  <line x1="10" y1="70" x2="${W - 10}" y2="70" stroke="black"/>
  <line x1="${W / 2}" y1="55" x2="${W / 2}" y2="85" stroke="#27ae60" stroke-width="2"/>
  <circle cy="70" r="9" fill="#2980b9" cx="${fmt(sx(frames[0]?.[key] ?? 0))}">
    <animate attributeName="cx" values="${xs}" keyTimes="${frameTimes(frames.length)}" dur="${seconds}s" repeatCount="indefinite"/>
  </circle>
</svg>
`;
}

/** An animated SVG of `frames` for env `envId`, playing at `fps` frames per second. */
export function episodeSvg(
  envId: string,
  frames: readonly Frame[],
  options: { fps?: number; title?: string } = {},
): string {
  if (frames.length === 0) throw new Error('render: no frames to draw');
  const fps = options.fps ?? 20;
  const seconds = Math.max(frames.length / fps, 0.1);
  const title = (options.title ?? envId).replace(/[<&>]/g, '');
  if (envId.startsWith('Pendulum')) return pendulumSvg(frames, seconds, title);
  if (envId.startsWith('MountainCar')) return mountainCarSvg(frames, seconds, title);
  return lqrSvg(frames, seconds, title);
}
