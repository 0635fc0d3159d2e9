// libFuzzer's driver, called from each target's entry point. SwiftPM links an executable's
// `main` to `<Target>_main` (so that tests can link the module), which leaves libFuzzer's own
// `main` unused: the target's `<Target>_main` starts the fuzzer itself through this call.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
