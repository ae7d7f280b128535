#include <zlib.h>

#include <cstdlib>

#include <string>
#include <string_view>

#include "lib/pprof_export/profile_builder.h"

namespace tracetool::pprof_export {

std::string Gzip(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper with a minimal header (no name, mtime 0).
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    abort();  // only fails on bad parameters or out of memory
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();  // the buffer is deflateBound-sized
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace tracetool::pprof_export
