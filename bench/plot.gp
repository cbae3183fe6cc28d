# SPDX-License-Identifier: BSD-2-Clause
# bench/plot.gp - answers per second against the window, CON and NON side
# by side, one line per server, from the rps.dat bench/compare.sh writes:
#
#   gnuplot -e "data='DIR/rps.dat'; out='DIR/rps.png'; ymax=N; subtitle='...'" bench/plot.gp
#
# ymax (optional) gives both panels one y scale.
#
# rps.dat: "# window ceiling_CON tern_CON libcoap_CON ceiling_NON tern_NON
# libcoap_NON", then one line per window; "-" where a server did not run.
if (!exists("data")) data = 'rps.dat'
if (!exists("out")) out = 'rps.png'
if (!exists("subtitle")) subtitle = ''

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,520 font ",11"
} else {
    set terminal png size 1200,520
}
set output out
set datafile missing "-"

set multiplot layout 1,2 title "GET /alarm, answers per second (median)\n{/*0.8 ".subtitle."}"
set logscale x 2
set xrange [0.7:370]
set xtics ("1" 1, "16" 16, "256" 256)
set xlabel "window (requests in flight)"
set ylabel "answers/s"
if (exists("ymax")) { set yrange [0:ymax] } else { set yrange [0:*] }
set format y "%.0s%c"
set grid ytics
set key top left

set style line 1 lc rgb "#888888" lw 2 pt 7 dt 2
set style line 2 lc rgb "#1b7837" lw 2 pt 7
set style line 3 lc rgb "#2166ac" lw 2 pt 5

set title "CON (confirmable, piggybacked ACK)"
plot data using 1:2 with linespoints ls 1 title "ceiling", \
     ''   using 1:3 with linespoints ls 2 title "tern-server", \
     ''   using 1:4 with linespoints ls 3 title "libcoap coap-server"

set title "NON (non-confirmable)"
plot data using 1:5 with linespoints ls 1 title "ceiling", \
     ''   using 1:6 with linespoints ls 2 title "tern-server", \
     ''   using 1:7 with linespoints ls 3 title "libcoap coap-server"

unset multiplot
