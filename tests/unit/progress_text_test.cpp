// Issue 16: the progress text never says "ETA 0s" — not once every task is settled (run's last
// line, `status` of a finished archive) and not for the last second of a run ("ETA <1s").
#include <mpisweep/runtime/master.hpp>

#include <gtest/gtest.h>

using mpisweep::runtime::progress_text;

TEST(ProgressText, NoEtaOnceNothingIsLeft) {
  EXPECT_EQ(progress_text(5, 0, 5, 2.0), "5/5 done, 0 failed, 2 tasks/s");
  EXPECT_EQ(progress_text(3, 2, 5, 0.0), "3/5 done, 2 failed, 0 tasks/s");
}

TEST(ProgressText, EtaIsLeftOverRate) {
  EXPECT_EQ(progress_text(4, 0, 10, 2.0), "4/10 done, 0 failed, 2 tasks/s, ETA 3s");  // 6 / 2
  EXPECT_EQ(progress_text(9, 0, 10, 4.0), "9/10 done, 0 failed, 4 tasks/s, ETA <1s");
  EXPECT_EQ(progress_text(0, 0, 10, 0.0), "0/10 done, 0 failed, 0 tasks/s, ETA ?");
  EXPECT_EQ(progress_text(10, 20, 400, 0.5), "10/400 done, 20 failed, 0.5 tasks/s, ETA 12m20s");
}
