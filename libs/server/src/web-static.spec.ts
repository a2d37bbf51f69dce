import { s3OriginFrom, webCsp } from './web-static';

describe('web pages CSP', () => {
  it('allows scripts and styles from the server only, network to the server and the S3 origin only', () => {
    const csp = webCsp('http://127.0.0.1:9000');
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:9000");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(webCsp(null)).toContain("connect-src 'self';");
  });

  it('derives the S3 origin presigned URLs use: path style, virtual-host style, none', () => {
    expect(s3OriginFrom({ S3_ENDPOINT: 'http://127.0.0.1:9000/' })).toBe('http://127.0.0.1:9000');
    expect(s3OriginFrom({ S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com', S3_FORCE_PATH_STYLE: 'false', S3_BUCKET: 'chat-files' })).toBe('https://chat-files.s3.eu-west-1.amazonaws.com');
    expect(s3OriginFrom({})).toBeNull();
    expect(s3OriginFrom({ S3_ENDPOINT: 'not a url' })).toBeNull();
  });
});
