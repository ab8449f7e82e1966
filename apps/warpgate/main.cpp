#include <CLI/CLI.hpp>
#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"warpgate: connect two computers directly, whatever NATs stand between them"};
    app.require_subcommand(1);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
