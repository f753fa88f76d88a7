#pragma once

// Process-wide malloc settings for the agent's allocation pattern.

namespace optischema {

// Analyzing a statement text with libpg_query allocates and frees blocks of up to a few MiB per
// text (parse trees, the JSON tree, fingerprint tables). With glibc's defaults such blocks come
// from mmap or are trimmed back to the kernel when freed, so every text page-faults them in again
// (about a quarter of the analysis time). This serves requests below 4 MiB from the heap and keeps
// up to 4 MiB of free heap per arena instead of returning it at once, which bounds what the
// process holds beyond its live data. Call once at start, before other threads exist (calling it
// again is harmless). Does nothing on other C libraries.
void ConfigureAllocator();

}  // namespace optischema
