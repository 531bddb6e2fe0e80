# gnuplot -e "data='bench/simulate/validation-2core.dat'; out='docs/figures/scheduler_model_validation.png'" bench/simulate/validation.gp
set terminal pngcairo size 760,560 font ",11"
set output out
set title "Scheduler model against real runs (2-core machine, shared, load about 20; ranks 2-8, two runs)"
set xlabel "measured efficiency"
set ylabel "predicted efficiency"
set xrange [0.5:1.02]
set yrange [0.5:1.02]
set key bottom right
set grid
f(x) = x
plot f(x) with lines lc "black" title "predicted = measured", \
     1.1*x with lines dt 2 lc "gray50" title "±10 %", \
     0.9*x with lines dt 2 lc "gray50" notitle, \
     data using ($3):(strcol(2) eq "2ms" ? $4 : 1/0):1 with labels offset 0.9,0 font ",9" notitle, \
     data using ($3):(strcol(2) eq "2ms" ? $4 : 1/0) with points pt 7 ps 1.3 lc "red" title "2 ms tasks (batched)", \
     data using ($3):(strcol(2) eq "50-150ms" ? $4 : 1/0):1 with labels offset 0.9,0 font ",9" notitle, \
     data using ($3):(strcol(2) eq "50-150ms" ? $4 : 1/0) with points pt 5 ps 1.3 lc "blue" title "50-150 ms tasks (one at a time)"
