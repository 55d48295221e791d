/**
 * The same sweep on a Kubernetes cluster: an Indexed Job whose index i runs the sweep's
 * run i (`pnpm sweep run-index`, which reads JOB_COMPLETION_INDEX), writing into a mounted
 * volume in the layout of a local sweep, and a Dockerfile that builds the image.
 * @module
 */
import { stringify } from 'yaml';
import { planRuns, type SweepSpec } from './plan.ts';

/** Options of {@link jobManifest}. */
export interface JobOptions {
  /** Job name (a DNS label). */
  name: string;
  /** Container image built from {@link DOCKERFILE}. */
  image: string;
  /** PersistentVolumeClaim mounted at `mountPath`, shared by all pods (ReadWriteMany). */
  claim: string;
  mountPath: string;
  /** Pods at a time (default: all). */
  parallelism?: number;
  /** CPU per pod (default "2"; a run uses about two cores). */
  cpu?: string;
  memory?: string;
}

/** The sweep's arguments, as `pnpm sweep run-index` takes them. */
export function sweepArgs(spec: SweepSpec): string[] {
  const args = [
    '--env',
    spec.env,
    '--presets',
    spec.presets.join(','),
    '--seeds',
    spec.seeds.join(','),
    '--steps',
    String(spec.steps),
  ];
  return spec.trainArgs.length > 0 ? [...args, '--', ...spec.trainArgs] : args;
}

/** A batch/v1 Job with completionMode Indexed: one completion per (preset, seed) run. */
export function jobManifest(spec: SweepSpec, o: JobOptions): Record<string, unknown> {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.name))
    throw new Error(`--job-name must be a DNS label (lowercase letters, digits, '-', ≤ 63), got "${o.name}"`);
  const completions = planRuns(spec).length;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: o.name, labels: { app: 'chainrule-sweep' } },
    spec: {
      completionMode: 'Indexed',
      completions,
      parallelism: o.parallelism ?? completions,
      // A failed index is retried on its own (Kubernetes ≥ 1.29); its run resumes from its checkpoint.
      backoffLimitPerIndex: 2,
      template: {
        metadata: { labels: { app: 'chainrule-sweep' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'run',
              image: o.image,
              // JOB_COMPLETION_INDEX is set by the Job controller in every pod of an Indexed Job.
              args: ['run-index', ...sweepArgsWithOut(spec, o.mountPath)],
              resources: {
                requests: { cpu: o.cpu ?? '2', memory: o.memory ?? '2Gi' },
                limits: { memory: o.memory ?? '2Gi' },
              },
              volumeMounts: [{ name: 'results', mountPath: o.mountPath }],
            },
          ],
          volumes: [{ name: 'results', persistentVolumeClaim: { claimName: o.claim } }],
        },
      },
    },
  };
}

function sweepArgsWithOut(spec: SweepSpec, out: string): string[] {
  const args = sweepArgs(spec);
  const dash = args.indexOf('--');
  const outArgs = ['--out', out];
  return dash < 0 ? [...args, ...outArgs] : [...args.slice(0, dash), ...outArgs, ...args.slice(dash)];
}

/** The manifest as YAML. */
export function jobManifestYaml(spec: SweepSpec, o: JobOptions): string {
  return stringify(jobManifest(spec, o));
}

/** A Dockerfile that builds the image from the repository root; its entrypoint is `pnpm sweep`. */
export const DOCKERFILE = `# Build from the repository root:
#   docker build -f <this file> -t chainrule-sweep .
FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
# pnpm through npx at the version the repository pins; the lockfile is taken as is. No install
# scripts: they only build headless-gl for the gpu.js backend, which training does not use
# (and which needs a compiler the slim image lacks).
RUN npx -y pnpm@10.34.9 install --frozen-lockfile --ignore-scripts && rm -rf /root/.npm
ENTRYPOINT ["npx", "-y", "pnpm@10.34.9", "--silent", "sweep"]
`;

/** Files for `.dockerignore`: local results and installs stay out of the image. */
export const DOCKERIGNORE = `node_modules
**/node_modules
runs
sweeps
.git
`;
