/* lucidgen: compiles timm image classifiers into standalone C.
 * The CLI, the registry and every generation decision live in the embedded
 * Lua generator (generator/cli.lua); this host only starts it. */
#include "lua_host.h"

int main(int argc, char **argv) { return lucidgen_lua_main(argc, argv); }
