// A progress bar for long CLI jobs (export download, import, backup,
// restore): drawn on standard error only when it is a terminal, so a piped
// or logged run stays quiet. It shows counts and rates, never a value.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace piivault::cli {

class Progress {
 public:
  // `what` names the unit ("records", "bytes"); `total` 0 when unknown.
  Progress(std::string label, std::string what, int64_t total = 0);
  // Draws the final line (when drawing at all).
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void set_total(int64_t total) { total_ = total; }
  // Notes that `done` units are done; redraws at most ten times a second.
  void Update(int64_t done);

  // Whether this bar draws: stderr is a terminal and PIIVAULT_NO_PROGRESS
  // is unset (ForTest draws to the stream it is given).
  bool drawing() const { return out_ != nullptr; }
  static Progress ForTest(std::FILE* out, std::string label, std::string what,
                          int64_t total);

  // The line drawn for `done` of `total` after `elapsed` (no terminal
  // control characters but the leading carriage return).
  static std::string Line(const std::string& label, const std::string& what,
                          int64_t done, int64_t total,
                          std::chrono::duration<double> elapsed);

 private:
  Progress(std::FILE* out, std::string label, std::string what, int64_t total);
  void Draw();

  std::FILE* out_;  // nullptr: quiet
  std::string label_;
  std::string what_;
  int64_t total_;
  int64_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace piivault::cli
