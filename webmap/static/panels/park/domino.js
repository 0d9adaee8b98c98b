/* 园区与矿山 panel part: domino (to be written). */
