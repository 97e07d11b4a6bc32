Btj
locationdata.binp