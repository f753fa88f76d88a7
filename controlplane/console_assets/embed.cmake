# Writes OUT, a C++ file defining kConsoleCss and kConsoleJs (console_assets.h) from the files CSS
# and JS. Run with cmake -P at build time.
file(READ ${CSS} css)
file(READ ${JS} js)
file(WRITE ${OUT} "// Generated from console_assets/ by embed.cmake; do not edit.\n"
  "#include \"controlplane/console_assets.h\"\n"
  "namespace optischema::controlplane {\n"
  "const std::string_view kConsoleCss = R\"asset(${css})asset\";\n"
  "const std::string_view kConsoleJs = R\"asset(${js})asset\";\n"
  "}  // namespace optischema::controlplane\n")
