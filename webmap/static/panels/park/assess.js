/* 园区与矿山 panel part: assess (to be written). */
