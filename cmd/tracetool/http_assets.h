// The web UI's files (web/), embedded at build time by embed_assets.cmake: no file is read and
// nothing is fetched at run time.
#ifndef TRACETOOL_CMD_TRACETOOL_HTTP_ASSETS_H_
#define TRACETOOL_CMD_TRACETOOL_HTTP_ASSETS_H_

#include <cstddef>

namespace tracetool::cli {

struct Asset {
  const char* path;  // "/index.html"
  const unsigned char* data;
  size_t size;
};

extern const Asset kAssets[];
extern const size_t kAssetCount;

}  // namespace tracetool::cli

#endif  // TRACETOOL_CMD_TRACETOOL_HTTP_ASSETS_H_
