/* 园区与矿山 panel part: tailings (to be written). */
