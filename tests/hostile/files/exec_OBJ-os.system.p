(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
(cos
system
Vtouch HOSTILE_MARKER
ossVmisc
(dVtid
I0
sVvals
(dssa.