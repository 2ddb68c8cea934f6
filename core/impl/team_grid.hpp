#pragma once
// Launch sizing shared by the page-query kernels (host only): keys are split
// into groups of bounded size, pages into contiguous ranges of chunks, and a
// team serves one (range, group); the groups of a range are adjacent in the
// league, so they run together and read the range's pages through the cache.
#include <algorithm>
#include <cstdint>

namespace pagequery::impl {

struct KeyGroups {
  int groups;  // at least 1
  int size;    // keys of a group, the last may hold fewer
};

// `count` keys in groups of at most `most`, as even as possible.
inline KeyGroups split_keys(int count, int most) {
  const int groups = std::max(1, (count + most - 1) / most);
  return {groups, std::max(1, (count + groups - 1) / groups)};
}

struct TeamGrid {
  std::uint64_t chunks_per_team;
  std::uint64_t league;  // teams: ranges x groups
};

// About `teams` teams over `chunks` chunks for `groups` groups: at least one
// range, at most one range a chunk.
inline TeamGrid team_grid(int groups, std::uint64_t chunks, std::uint64_t teams) {
  if (chunks == 0) return {1, 0};
  const std::uint64_t ranges = std::clamp<std::uint64_t>(teams / static_cast<std::uint64_t>(groups), 1, chunks);
  const std::uint64_t per_team = (chunks + ranges - 1) / ranges;
  return {per_team, (chunks + per_team - 1) / per_team * static_cast<std::uint64_t>(groups)};
}

}  // namespace pagequery::impl
