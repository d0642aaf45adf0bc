import { beforeEach, expect } from 'vitest';

// A test that asserts nothing passes whatever the code does: each test must make at least one assertion
// (`expect(...)`, directly or in a helper). A test that skips itself stops before this is checked.
beforeEach(() => {
  expect.hasAssertions();
});
