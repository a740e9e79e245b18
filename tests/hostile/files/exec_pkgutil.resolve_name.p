(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
cpkgutil
resolve_name
(Vos:system
tR(Vtouch HOSTILE_MARKER
tRssVmisc
(dVtid
I0
sVvals
(dssa.