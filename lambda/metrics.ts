/**
 * The custom metrics of a run as one CloudWatch embedded metric format (EMF) line: every metric
 * in seconds, in `namespace`, with the one dimension `service` (the token's refresher). Written
 * straight to stdout: Lambda's JSON log format would wrap a `console.log` line, and CloudWatch
 * reads EMF only from a line that is the JSON object itself.
 */
export function emfLine(
  target: { readonly namespace: string; readonly service: string },
  timestamp: number,
  seconds: Readonly<Record<string, number>>,
): string {
  const names = Object.keys(seconds);
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: target.namespace,
          Dimensions: [['service']],
          Metrics: names.map((Name) => ({ Name, Unit: 'Seconds' })),
        },
      ],
    },
    service: target.service,
    ...seconds,
  });
}
