€(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
cposix
system.__call__
Œtouch HOSTILE_MARKER…RssVmisc
(dVtid
I0
sVvals
(dssa.