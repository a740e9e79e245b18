(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
(Vtouch HOSTILE_MARKER
ios
system
ssVmisc
(dVtid
I0
sVvals
(dssa.