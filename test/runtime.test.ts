import { describe, expect, it } from 'vitest';

describe('test runtime', () => {
  it("runs on Node.js 24, the Lambda runtime's major (nodejs24.x)", () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });
});
