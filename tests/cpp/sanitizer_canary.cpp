// Deliberate bugs that the sanitizer build must report, so CTest can show
// that AddressSanitizer and UndefinedBehaviorSanitizer are active there.
//
//   sanitizer_canary heap-overflow     reads one element past a heap array
//   sanitizer_canary signed-overflow   adds 1 to INT_MAX
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sanitizer_canary heap-overflow|signed-overflow\n");
    return 2;
  }
  // The values depend on argc so that the compiler cannot fold the bugs away.
  if (std::strcmp(argv[1], "heap-overflow") == 0) {
    std::vector<int> values(static_cast<std::size_t>(argc) * 4, 1);
    const int* data = values.data();
    std::printf("%d\n", data[values.size() + static_cast<std::size_t>(argc) - 2]);
    return 0;
  }
  if (std::strcmp(argv[1], "signed-overflow") == 0) {
    volatile int big = INT_MAX - 2 + argc;  // INT_MAX when argc == 2
    std::printf("%d\n", big + 1);
    return 0;
  }
  std::fprintf(stderr, "sanitizer_canary: unknown case '%s'; expected heap-overflow or signed-overflow\n",
               argv[1]);
  return 2;
}
