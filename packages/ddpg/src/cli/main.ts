// Placeholder until the DDPG issue lands: the training CLI is coming.
console.log(
  'chainrule-ddpg: training is coming. The DDPG agent, environments and CLI land with the @chainrule/ddpg issue.\n' +
    'Until then, `pnpm test` runs the test suite.',
);
