// Real services are slower than mocks; a hung test still fails, just not after 5 s.
jest.setTimeout(60_000);
