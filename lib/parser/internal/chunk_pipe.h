// ChunkPipe: hands items from one producer thread to one consumer in fixed-size chunks.
//
// The reader uses it to run the batch merge (order.cc) on a second core while the caller's thread
// validates and analyses (reader.cc). Items are assigned into reusable, pre-sized chunks, so steady
// state allocates and constructs nothing; the mutex is taken once per chunk, not per item. At most `max_chunks` chunks
// exist, which bounds memory and makes a fast producer wait for a slow consumer.
//
// Ending: the producer calls Close(status) once (an error travels to the consumer after the items
// before it); the consumer, or its destructor, calls Cancel() to make a waiting producer give up.
#ifndef TRACETOOL_LIB_PARSER_INTERNAL_CHUNK_PIPE_H_
#define TRACETOOL_LIB_PARSER_INTERNAL_CHUNK_PIPE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "lib/parser/status.h"

namespace tracetool::parser::internal {

template <typename T>
class ChunkPipe {
 public:
  ChunkPipe(size_t chunk_size, size_t max_chunks) : chunk_size_(chunk_size) {
    for (size_t i = 0; i < max_chunks; ++i) free_.push_back(Chunk{std::vector<T>(chunk_size), 0});
    fill_ = Chunk{std::vector<T>(chunk_size), 0};
  }

  // ---- producer side ----
  // Slot() is where the next item goes; Commit() publishes it. False: the consumer cancelled.
  T* Slot() { return &fill_.items[fill_.n]; }
  bool Commit() {
    if (++fill_.n < chunk_size_) return true;
    return Flush();
  }
  // Close() publishes the items committed so far, then the end (ok) or an error.
  void Close(Status st) {
    Flush();
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    end_status_ = std::move(st);
    cv_.notify_all();
  }

  // ---- consumer side ----
  // Next() returns the next item (the consumer's to modify; valid until the following call), or
  // null at the end, with
  // *st set to the producer's final status.
  T* Next(Status* st) {
    if (read_pos_ < read_.n) return &read_.items[read_pos_++];
    std::unique_lock<std::mutex> lock(mu_);
    if (!read_.items.empty()) {  // give the drained chunk back
      read_.n = 0;
      free_.push_back(std::move(read_));
      read_ = Chunk{};
      cv_.notify_all();
    }
    read_pos_ = 0;
    cv_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) {
      *st = end_status_;
      return nullptr;
    }
    read_ = std::move(full_.front());
    full_.pop_front();
    return &read_.items[read_pos_++];
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  bool Flush() {
    if (fill_.n == 0) return !Cancelled();
    std::unique_lock<std::mutex> lock(mu_);
    full_.push_back(std::move(fill_));
    fill_ = Chunk{};
    cv_.notify_all();
    cv_.wait(lock, [&] { return !free_.empty() || cancelled_; });
    if (cancelled_) return false;
    fill_ = std::move(free_.back());
    free_.pop_back();
    return true;
  }
  bool Cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  struct Chunk {
    std::vector<T> items;  // always chunk_size_ long (empty only while moved out)
    size_t n = 0;          // items in use
  };

  const size_t chunk_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> full_;  // published, in order
  std::vector<Chunk> free_;  // drained, ready for reuse
  bool closed_ = false;
  bool cancelled_ = false;
  Status end_status_;
  // Producer-owned.
  Chunk fill_;
  // Consumer-owned.
  Chunk read_;
  size_t read_pos_ = 0;
};

}  // namespace tracetool::parser::internal

#endif  // TRACETOOL_LIB_PARSER_INTERNAL_CHUNK_PIPE_H_
