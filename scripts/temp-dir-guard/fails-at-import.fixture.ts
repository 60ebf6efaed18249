// A file that fails before its tests are collected, so no hook of the guard runs: its exit handler removes the dir.
throw new Error('an import that failed');
